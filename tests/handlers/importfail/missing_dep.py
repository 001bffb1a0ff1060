import not_a_module_scftest  # noqa: F401


def main_handler(event, context):
    return "unreachable"
