"""Referrals: pays a reward only for a real referral (DOMAIN.md "Referrals")."""
