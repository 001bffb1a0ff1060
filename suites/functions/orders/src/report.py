# A handler in a sub-folder: handler "src/report.daily".
def daily(event, context):
    total = len(event.get("Records", []))
    print("records: %d" % total)
    return {"records": total, "trigger": event.get("Type", "cos")}
