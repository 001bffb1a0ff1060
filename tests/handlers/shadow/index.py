import json


def main_handler(event, context):
    return json.dumps([1, {"a": None}])
