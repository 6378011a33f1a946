//! Bulk entry of a unit's figures for a period, and what is still missing.
