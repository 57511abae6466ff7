import tabulate


def render_row(item):
    """[1, 2] -> '-  -\n1  2\n-  -'; also says which tabulate it used."""
    return {"table": tabulate.tabulate([item], tablefmt="simple"),
            "tabulate": tabulate.__version__}
