# -*- coding: utf8 -*-
# A template's placeholder that was never filled in: importing this file fails while the
# function loads (a NameError), so the handler below never runs.
APPID = XXXXXX  # noqa: F821


def main_handler(event, context):
    return APPID
