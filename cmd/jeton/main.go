// Command jeton is the jeton gateway: the server and the admin commands
// that work directly on its store.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// storeFlags select the store; every command that touches data takes them.
type storeFlags struct {
	Data          string `name:"data" env:"JETON_DATA" default:"./jeton-data" help:"Directory of the embedded SQLite database and the generated master key."`
	DatabaseURL   string `name:"database-url" env:"JETON_DATABASE_URL" help:"PostgreSQL URL (postgres://...). When set, SQLite is not used and the master key must be given."`
	MasterKeyFile string `name:"master-key-file" env:"JETON_MASTER_KEY_FILE" help:"File holding the 32-byte master key (hex or base64). JETON_MASTER_KEY may hold the key itself."`
}

type cli struct {
	Serve    serveCmd    `cmd:"" help:"Run the server (embedded SQLite, sandbox mode, nothing to configure)."`
	Migrate  migrateCmd  `cmd:"" help:"Apply database migrations and exit."`
	Merchant merchantCmd `cmd:"" help:"Create and list merchants."`
	Key      keyCmd      `cmd:"" help:"Create, list, rotate and revoke API keys."`
	Secret   secretCmd   `cmd:"" help:"Rotate a merchant's API secret."`
	Provider providerCmd `cmd:"" help:"Create SagaPay providers (providerId and providerCertificate)."`
	Token    tokenCmd    `cmd:"" help:"Mint client tokens locally with the Go SDK."`
	User     userCmd     `cmd:"" help:"Create dashboard users and their one-time setup links."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
}

type versionCmd struct{}

func (versionCmd) Run() error { fmt.Println("jeton", version); return nil }

func main() {
	var c cli
	ctx := kong.Parse(&c,
		kong.Name("jeton"),
		kong.Description("jeton: a self-hosted gateway serving the AssetPay and SagaPay client-token APIs."),
		kong.UsageOnError(),
	)
	if err := ctx.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "jeton:", err)
		os.Exit(1)
	}
}
