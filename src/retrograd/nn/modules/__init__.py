"""(being written: see the nn issue)"""
