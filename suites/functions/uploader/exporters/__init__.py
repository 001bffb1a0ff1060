# -*- coding: utf8 -*-
"""One module per export format: exporters/csv.py writes CSV."""
