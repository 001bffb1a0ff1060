def main_handler(event, context)
    return "missing colon"
