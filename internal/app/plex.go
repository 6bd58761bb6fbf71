package app

import (
	"context"
	"fmt"
	"time"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexpoll"
	"github.com/taxbridge/taxbridge/internal/plexwriteback"
	"github.com/taxbridge/taxbridge/internal/secrets"
)

// loadCredentials fills the secrets the environment left empty from the
// credentials store, when a key for it is configured, and then checks that
// every secret the configuration needs is there.
func (a *App) loadCredentials(ctx context.Context, cfg *config.Config, replicas int) error {
	key, err := cfg.SecretsKeyBytes()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if key != nil {
		st, err := secrets.Open(ctx, a.JS, key, secrets.WithReplicas(replicas))
		if err != nil {
			return fmt.Errorf("credentials store: %w", err)
		}
		if err := secrets.Fill(ctx, st, cfg.Credentials()); err != nil {
			return fmt.Errorf("credentials store: %w", err)
		}
	}
	return cfg.ValidateCredentials()
}

// startPlex assembles the Plex integration when TAXBRIDGE_PLEX_URL is set:
// the client, the poller (unless its interval is 0) and the write-back
// (unless turned off). Run runs them beside the worker.
func (a *App) startPlex(ctx context.Context, cfg *config.Config, replicas int) error {
	if !cfg.PlexEnabled() {
		return nil
	}
	creds := plex.Credentials{APIKey: cfg.PlexAPIKey, TenantID: cfg.PlexTenantID}
	if cfg.PlexOAuthTokenURL != "" {
		creds.OAuth = &plex.OAuthConfig{TokenURL: cfg.PlexOAuthTokenURL, ClientID: cfg.PlexOAuthClientID,
			ClientSecret: cfg.PlexOAuthClientSecret}
	}
	client, err := plex.New(cfg.PlexURL, creds, plex.WithBudget(cfg.PlexBudget, time.Minute),
		plex.WithTracerProvider(a.TracerProvider), plex.WithLogger(a.Log))
	if err != nil {
		return fmt.Errorf("Plex client (TAXBRIDGE_PLEX_*): %w", err)
	}
	a.Plex = client
	if cfg.PlexPollInterval > 0 {
		a.PlexPoller, err = plexpoll.New(a.JS, client, plexpoll.WithInterval(cfg.PlexPollInterval),
			plexpoll.WithSalesChannel(cfg.PlexSalesChannel), plexpoll.WithCancelStatuses(cfg.PlexCancelStatuses...),
			plexpoll.WithDocumentPrefix(cfg.PlexDocumentPrefix), plexpoll.WithTenant(cfg.PlexTenantID),
			plexpoll.WithLeaseTTL(cfg.PlexLeaseTTL), plexpoll.WithReplicas(replicas),
			plexpoll.WithReferenceMaxAge(cfg.PlexReferenceMaxAge), plexpoll.WithMaxCallsPerCycle(cfg.PlexMaxCallsPerCycle),
			plexpoll.WithLogger(a.Log), plexpoll.WithTracerProvider(a.TracerProvider))
		if err != nil {
			return fmt.Errorf("Plex poller: %w", err)
		}
	}
	if cfg.PlexWriteback {
		a.PlexWriteback = plexwriteback.New(a.JS, client, plexwriteback.WithReplicas(replicas),
			plexwriteback.WithAdjustmentType(cfg.PlexAdjustmentType),
			plexwriteback.WithLogger(a.Log), plexwriteback.WithTracerProvider(a.TracerProvider))
		if _, err := a.PlexWriteback.Provision(ctx); err != nil {
			return fmt.Errorf("Plex write-back: %w", err)
		}
	}
	a.Log.Info("Plex integration on", "url", bus.RedactURL(cfg.PlexURL), "poll_interval", cfg.PlexPollInterval,
		"writeback", cfg.PlexWriteback, "budget_per_minute", cfg.PlexBudget)
	return nil
}
