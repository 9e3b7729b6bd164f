from services.identity_dev.main import main

main()
