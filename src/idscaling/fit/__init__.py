"""Stage 8: scaling-law fits (pure, saturating, joint; envelope over shapes; held-out
extrapolation), the exponents predicted from an intrinsic dimension, and the exponents table.
"""
