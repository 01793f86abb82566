"""zalo"""
