print("certagent")
