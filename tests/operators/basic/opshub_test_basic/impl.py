def add_one(x):
    return x + 1


def multiply(x, factor=2):
    return x * factor


class RunningSum:
    """A batched class operator: constructed once, called with lists."""

    def __init__(self, start=0):
        self.start = start
        self.calls = 0

    def __call__(self, items):
        self.calls += 1
        return [x + self.start for x in items]
