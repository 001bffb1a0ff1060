import os


def main_handler(event, context):
    return {"function": "reports", "db": os.environ.get("DB_NAME")}
