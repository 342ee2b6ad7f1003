"""The processes of the simulation: the only package that imports SimPy.

They schedule the pure rules and drive the control plane the way real ECS
components do; they never re-implement a rule.
"""
