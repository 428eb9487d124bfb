package sqlstore

// MigrationCount is the number of migrations this build applies, for the
// external tests that check schema_migrations.
func MigrationCount() int {
	ms, err := loadMigrations(migrationFiles, DialectSQLite)
	if err != nil {
		panic(err)
	}
	return len(ms)
}
