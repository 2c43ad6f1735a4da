package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zalando/go-keyring"
)

// keychainService names Switchboard's entries in the OS keychain.
const keychainService = "switchboard"

// ErrNoPassword means the keychain holds no password for the account.
var ErrNoPassword = errors.New("no password saved for this account: run `switchboard login`")

// KeychainUser is the keychain entry name of an account: extension@server,
// so two PBXs never share a secret.
func KeychainUser(cfg Config) string {
	return cfg.Account.Extension + "@" + cfg.PBX.Server
}

// SavePassword stores the account's password in the OS keychain.
func SavePassword(cfg Config, password string) error {
	if cfg.Account.Extension == "" || cfg.PBX.Server == "" {
		return errors.New("set pbx.server and account.extension before saving a password")
	}
	if password == "" {
		return errors.New("empty password")
	}
	if err := keyring.Set(keychainService, KeychainUser(cfg), password); err != nil {
		return fmt.Errorf("saving the password in the OS keychain: %w", err)
	}
	return nil
}

// LoadPassword reads the account's password from the OS keychain.
func LoadPassword(cfg Config) (string, error) {
	pw, err := keyring.Get(keychainService, KeychainUser(cfg))
	if errors.Is(err, keyring.ErrNotFound) {
		return "", ErrNoPassword
	}
	if err != nil {
		return "", fmt.Errorf("reading the OS keychain: %w", err)
	}
	return pw, nil
}

// DeletePassword removes the account's password (sign out). A missing
// entry is not an error.
func DeletePassword(cfg Config) error {
	err := keyring.Delete(keychainService, KeychainUser(cfg))
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("removing the password from the OS keychain: %w", err)
	}
	return nil
}

// ReadPasswordLine reads one password line (for --password-stdin),
// trimming the line ending only.
func ReadPasswordLine(s string) string {
	return strings.TrimRight(s, "\r\n")
}
