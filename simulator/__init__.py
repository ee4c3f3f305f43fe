"""A local, faithful fake of Microsoft's cloud (Entra ID, Graph, Partner Center).

Used by the demo, the tests and the benchmarks; never imported by product code.
"""
