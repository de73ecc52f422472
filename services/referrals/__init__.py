"""Referrals: pays a reward only for a real referral (docs/domain.md "Referrals")."""
