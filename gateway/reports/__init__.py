"""Reports: the figures the regency is judged by, their files (CSV, XLSX, text), the koordinators'
daily digest and the monthly publication."""
