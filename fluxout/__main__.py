from fluxout.cli import main

main()
