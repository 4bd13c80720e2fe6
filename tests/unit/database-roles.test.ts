import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CONFIG } from '../../services/config/schema.js';
import { parseConfig } from '../../services/config/validate.js';
import { SECRETS } from '../../services/topology/common.js';
import { DB_ROLE_SECRETS, DB_SERVICES, dbPasswordSecret, dbRole, rolesSql } from '../../services/topology/database-roles.js';
import { buildTopology } from '../../services/topology/index.js';
import { renderCompose } from '../../services/render/compose.js';

type ComposeService = { environment?: Record<string, string>; secrets?: { target: string }[]; depends_on?: Record<string, { condition: string }>; restart?: string; healthcheck?: { disable?: boolean } };
const servicesOf = (yaml = '') => (parse(renderCompose(buildTopology(yaml ? parseConfig(yaml) : DEFAULT_CONFIG))) as { services: Record<string, ComposeService> }).services;

describe('database roles: least privilege for the apps', () => {
  it('every service that uses the database logs in as its own role with its own password; none holds the superuser\'s', () => {
    for (const yaml of ['', 'profile: minimal']) {
      const services = servicesOf(yaml);
      for (const service of DB_SERVICES) {
        for (const name of service === 'auth' ? ['auth'] : [`${service}-blue`, `${service}-green`]) {
          const spec = services[name]!;
          expect(spec.environment?.DATABASE_USER, name).toBe(dbRole(service));
          expect(spec.environment?.DATABASE_PASSWORD_FILE, name).toBe(`/run/secrets/${dbPasswordSecret(service)}`);
          const mounted = spec.secrets?.map((secret) => secret.target) ?? [];
          expect(mounted, name).toContain(dbPasswordSecret(service));
          expect(mounted.filter((secret) => secret.startsWith('pg_') || secret === 'postgres_password'), name).toEqual([dbPasswordSecret(service)]);
          expect(spec.depends_on?.['db-init'], name).toEqual({ condition: 'service_completed_successfully' });
        }
      }
      const holders = Object.entries(services).filter(([, spec]) => spec.secrets?.some((secret) => secret.target === 'postgres_password')).map(([name]) => name);
      expect(holders.every((name) => /^(postgres-|db-init$)/.test(name)), holders.join(', ')).toBe(true);
    }
  });

  it('db-init is a one-shot: no restart, no health check, before the apps and after the write endpoint', () => {
    const patroni = servicesOf()['db-init']!;
    expect(patroni).toMatchObject({ restart: 'no', healthcheck: { disable: true }, depends_on: { 'postgres-writer': { condition: 'service_healthy' } }, environment: { PGHOST: 'postgres-writer' } });
    expect(servicesOf('profile: minimal')['db-init']).toMatchObject({ depends_on: { 'postgres-primary': { condition: 'service_healthy' } }, environment: { PGHOST: 'postgres-primary' } });
  });

  it('roles.sql: a standby quits first; roles without superuser, schema owners; the apps may only append to the audit log', () => {
    const sql = rolesSql();
    const lines = sql.split('\n');
    expect(lines.findIndex((line) => line.startsWith('\\if :standby'))).toBeLessThan(lines.findIndex((line) => line === 'BEGIN;'));
    expect(sql).toContain("ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT");
    expect(sql).toContain("CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I");
    for (const service of DB_SERVICES) expect(sql).toContain(`('${dbRole(service)}', '${service}')`);
    const grants = lines.filter((line) => line.startsWith('GRANT'));
    const apps = DB_SERVICES.map(dbRole).join(', ');
    expect(grants.filter((line) => line.includes('audit'))).toEqual([`GRANT USAGE ON SCHEMA audit TO ${apps};`, `GRANT INSERT ON audit.events TO ${apps};`, `GRANT USAGE ON SEQUENCE audit.events_id_seq TO ${apps};`]);
    expect(grants.join('\n')).not.toMatch(/GRANT ALL|SUPERUSER|UPDATE|DELETE/);
    // Passwords come from the secret files inside the container, never from a command line.
    for (const secret of DB_ROLE_SECRETS) expect(sql).toContain(`\`cat /run/secrets/${secret}\``);
    expect(sql).not.toMatch(/PASSWORD '[^:]/);
  });

  it('every role password is a generated secret', () => {
    for (const secret of DB_ROLE_SECRETS) expect(SECRETS).toContain(secret);
  });
});
