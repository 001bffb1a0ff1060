# -*- coding: utf8 -*-
# The COS SDK is not in this code folder, so importing this file fails while the function
# loads: ImportError on Python 2.7, ModuleNotFoundError (a kind of ImportError) on 3.6+.
import qcloud_cos_not_bundled  # noqa: F401


def main_handler(event, context):
    return "unreachable"
