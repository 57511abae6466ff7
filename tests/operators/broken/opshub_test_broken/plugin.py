import opshub_missing_dependency  # noqa: F401  (deliberately not installed)

import hub


@hub.hookimpl
def register_operators(register):
    register("broken-op", "opshub_test_broken.plugin:nothing")
