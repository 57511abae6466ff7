import hub


@hub.hookimpl
def register_operators(register):
    register("render-row", "opshub_test_dep.impl:render_row",
             description="A row of numbers as a plain-text table (needs tabulate).")
