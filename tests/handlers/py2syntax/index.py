def main_handler(event, context):
    print "Python 2 only"
    return "ok"
