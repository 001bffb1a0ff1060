# -*- coding: utf8 -*-


def export(rows):
    return "\n".join(",".join(str(cell) for cell in row) for row in rows)
