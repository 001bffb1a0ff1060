import os


def main_handler(event, context):
    return {"function": "orders", "stage": os.environ.get("STAGE"), "db": os.environ.get("DB_NAME"),
            "retries": os.environ.get("RETRIES"), "has_token": bool(os.environ.get("TOKEN"))}
