import hub


@hub.hookimpl
def register_operators(register):
    register("toolz-version-a", "opshub_test_conflict_a.impl:toolz_version",
             description="The toolz version this operator runs with (pins toolz==0.12.1).")
