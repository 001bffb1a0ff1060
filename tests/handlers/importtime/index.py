import logging
import sys

print("printed at import")
logging.basicConfig(level=logging.INFO)  # the runtime's handler is there already: no-op
logging.warning("logged at import")
sys.stderr.write("stderr at import\n")


def main_handler(event, context):
    logging.info("info after basicConfig")
    return "ok"
