"""Combine parsed sources into domain facts."""
