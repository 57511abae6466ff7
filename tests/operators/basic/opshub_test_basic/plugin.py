import hub


@hub.hookimpl
def register_operators(register):
    register("add-one", "opshub_test_basic.impl:add_one", description="x + 1")
    register("multiply", "opshub_test_basic.impl:multiply", description="x * factor")
    register(
        "running-sum", "opshub_test_basic.impl:RunningSum", kind="class", batch=True,
        description="Adds a start value; counts its calls.", num_cpus=0.5,
        inputs=["number"], outputs=["number"],
    )
    register("shared-name", "opshub_test_basic.impl:add_one", description="claimed twice")
