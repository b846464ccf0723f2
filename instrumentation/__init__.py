"""tycoon.instrumentation"""
