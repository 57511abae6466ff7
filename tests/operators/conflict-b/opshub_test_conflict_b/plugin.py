import hub


@hub.hookimpl
def register_operators(register):
    register("toolz-version-b", "opshub_test_conflict_b.impl:toolz_version",
             description="The toolz version this operator runs with (pins toolz==1.0.0).")
