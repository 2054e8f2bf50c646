"""The controlled test: SYNTHETIC corpora of known latent dimension k (teachers, documents), the
Bayes-optimal predictive (oracle), a learner told z, the per-model diagnostics and the tables
that compare every ID protocol with k.
"""
