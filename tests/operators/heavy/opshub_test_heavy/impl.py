import torch


def tensor_sum(values):
    return float(torch.tensor(values, dtype=torch.float64).sum())
