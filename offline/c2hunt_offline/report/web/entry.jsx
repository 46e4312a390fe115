// The offline report's viewer: Splunk's dashboard framework rendering the app's own
// Dashboard Studio definitions, whose searches the report has replaced by ds.test data.
import React from 'react';
import { createRoot } from 'react-dom/client';
import DashboardCore from '@splunk/dashboard-core';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import EnterpriseViewOnlyPreset from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import SplunkThemeProvider from '@splunk/themes/SplunkThemeProvider';

function Dashboard({ definition }) {
    return (
        <DashboardContextProvider initialDefinition={definition} preset={EnterpriseViewOnlyPreset}>
            <DashboardCore width="100%" height="auto" />
        </DashboardContextProvider>
    );
}

// One dashboard per element carrying a data-c2hunt-dashboard attribute (the JSON
// definition sits in the <script type="application/json"> of the same id). With
// report.html#only=<section id>, only that section's dashboard is rendered.
const only = /^#only=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
document.querySelectorAll('[data-c2hunt-dashboard]').forEach((element) => {
    const section = element.closest('section');
    if (only && (!section || section.id !== only[1])) {
        return;
    }
    const source = document.getElementById(element.getAttribute('data-c2hunt-dashboard'));
    const definition = JSON.parse(source.textContent);
    createRoot(element).render(
        <SplunkThemeProvider family="prisma" colorScheme="dark" density="compact">
            <Dashboard definition={definition} />
        </SplunkThemeProvider>
    );
});
