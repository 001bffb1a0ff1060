import os


def main_handler(event, context):
    return {"function": "orders", "stage": os.environ.get("STAGE"), "db": os.environ.get("DB_NAME"),
            "retries": os.environ.get("RETRIES"), "has_token": bool(os.environ.get("TOKEN")),
            "name": os.environ.get("SCF_FUNCTIONNAME"), "namespace": os.environ.get("SCF_NAMESPACE"),
            "region": context.get("tencentcloud_region")}
