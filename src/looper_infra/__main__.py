from looper_infra.cli import main

main()
