"""Stripe payments: checkout for what a client owes, webhooks settled exactly once, reconciliation.

- `checkout`: open a Checkout Session and record its pending payment;
- `webhooks`: verify, store and apply Stripe's events;
- `reconcile`: replay the events that never arrived, from Stripe's own state;
- `stripe_api`: the only module that talks to Stripe.
"""
