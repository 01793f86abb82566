"""The native dialect: dlrhub's own JSON callback envelope."""
