NAME = "helper from src"
