import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { Logger } from '@portcullis/platform';
import { dataSourceOptions, openDataSource } from './data-source';
import { TransactionRunner } from './transaction.runner';

/**
 * The TypeORM data source, migrated before any other provider can use it. Repositories come from
 * `TypeOrmModule.forFeature([...])` in each capability module or `@InjectDataSource()`, and open
 * transactions only through the one {@link TransactionRunner} (global: one lock per database).
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [CONTROL_PLANE_CONFIG, Logger],
      useFactory: (config: ControlPlaneConfig, logger: Logger) => ({
        ...dataSourceOptions(config.databaseUrl),
        // Boot fails fast with the database's own message; a supervisor restarts us if needed.
        retryAttempts: 1,
        portcullisLogger: logger,
      }),
      dataSourceFactory: async (options) => {
        if (!options) throw new Error('database options missing');
        const logger = (options as typeof options & { portcullisLogger: Logger }).portcullisLogger;
        return openDataSource(options, (applied) => {
          if (applied.length > 0) {
            logger.child('database').info('database migrations applied', { migrations: applied });
          }
        });
      },
    }),
  ],
  providers: [TransactionRunner],
  exports: [TransactionRunner],
})
export class DatabaseModule {}
