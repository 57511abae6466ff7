import hub


def negate(x):
    return -x


@hub.hookimpl
def register_operators(register):
    register("shared-name", "opshub_test_collide.plugin:negate")
    register("negate", "opshub_test_collide.plugin:negate")
