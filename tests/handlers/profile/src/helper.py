NAME = "src/helper.py"
