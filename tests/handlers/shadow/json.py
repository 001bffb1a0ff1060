raise RuntimeError("the user's json.py must not shadow the runtime's json")
