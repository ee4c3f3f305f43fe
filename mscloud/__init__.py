"""Our client side of Microsoft: Graph and Partner Center over HTTP (identity lives beside them).

No Django here: every URL, CA bundle and token comes in as an argument.
"""
