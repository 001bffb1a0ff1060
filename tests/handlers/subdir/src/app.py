import os
import sys

import helper


def handler(event, context):
    return {"cwd": os.getcwd(), "name": __name__, "helper": helper.NAME,
            "path": sys.path[:2]}
