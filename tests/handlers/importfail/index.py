print("before the failure")
appid = XXXXXX  # the placeholder users forget to fill in


def main_handler(event, context):
    return appid
