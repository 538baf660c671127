// The shared DecisionEvent fixture, under the name the control plane's specs import.
export { decisionEventFixture as makeDecisionEvent } from '@portcullis/testing';
